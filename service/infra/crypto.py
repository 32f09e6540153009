"""Secrets at rest: Fernet/MultiFernet with the newest key first, so keys rotate without downtime."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class TokenBox:
    def __init__(self, keys: tuple[str, ...] | list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(k) for k in keys])

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise ValueError("cannot decrypt: none of the configured keys matches") from None

    def rotate(self, token: str) -> str:
        """Re-encrypt with the newest key (used by the key rotation command)."""
        return self._fernet.rotate(token.encode()).decode()
