"""Fixtures of the end-to-end notification tests: a real SMTP server on loopback."""

import pytest

from tests.notify_e2e.smtp import running_inbox


@pytest.fixture
def inbox():
    with running_inbox() as handler:
        yield handler
