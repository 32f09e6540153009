"""`kneeguard strava subscribe|list|unsubscribe|reconcile|purge` and `kneeguard keys rotate`.

Strava allows one push subscription per app; its callback is `{PUBLIC_URL}/webhooks/strava`, and
Strava validates it (GET with hub.challenge) before `subscribe` returns, so the web service must be
up and reachable at PUBLIC_URL.
"""

from __future__ import annotations

import click

from service.infra.console import _runtime, emit, load_settings


@click.group()
def strava() -> None:
    """Strava push subscription and history maintenance."""


def _strava_runtime():
    settings = load_settings()
    if not settings.strava_enabled:
        raise click.UsageError("STRAVA_CLIENT_ID and STRAVA_CLIENT_SECRET are not set.")
    return _runtime()


def _remember(rt, subscription_id: int | None) -> None:
    """The receiver drops events of other subscriptions once it knows ours."""
    from service.integrations.strava import connection as svc

    try:
        if subscription_id is None:
            rt.queue.redis.delete(svc.SUBSCRIPTION_KEY)
        else:
            rt.queue.redis.set(svc.SUBSCRIPTION_KEY, str(subscription_id))
    except Exception:  # the embedded queue has no shared Redis: nothing to remember it in
        pass


@strava.command("subscribe")
def subscribe() -> None:
    """Create the app's push subscription; prints {"id", "callback_url"}."""
    from service.integrations.base import ProviderError
    from service.integrations.strava import connection as svc

    rt = _strava_runtime()
    if not rt.settings.strava_verify_token:
        raise click.UsageError("STRAVA_VERIFY_TOKEN is not set.")
    callback = f"{rt.settings.public_url}{svc.WEBHOOK_PATH}"
    try:
        sub_id = svc.client(rt).create_subscription(callback, rt.settings.strava_verify_token)
    except ProviderError as exc:
        raise click.ClickException(f"Strava refused the subscription: {exc}") from None
    _remember(rt, sub_id)
    emit({"id": sub_id, "callback_url": callback})


@strava.command("list")
def list_subscriptions() -> None:
    """The app's push subscriptions as Strava reports them."""
    from service.integrations.base import ProviderError
    from service.integrations.strava import connection as svc

    rt = _strava_runtime()
    try:
        subs = svc.client(rt).list_subscriptions()
    except ProviderError as exc:
        raise click.ClickException(f"Strava: {exc}") from None
    if subs:
        _remember(rt, subs[0].id)
    emit({"subscriptions": [s.model_dump(mode="json") for s in subs]})


@strava.command("unsubscribe")
@click.argument("subscription_id", required=False, type=int)
def unsubscribe(subscription_id: int | None) -> None:
    """Delete the subscription (default: the one Strava lists)."""
    from service.integrations.base import ProviderError
    from service.integrations.strava import connection as svc

    rt = _strava_runtime()
    api = svc.client(rt)
    try:
        if subscription_id is None:
            subs = api.list_subscriptions()
            if not subs:
                emit({"deleted": None})
                return
            subscription_id = subs[0].id
        api.delete_subscription(subscription_id)
    except ProviderError as exc:
        raise click.ClickException(f"Strava: {exc}") from None
    _remember(rt, None)
    emit({"deleted": subscription_id})


@strava.command("reconcile")
def reconcile() -> None:
    """Purge expired Strava data and queue a history sync per connected runner (run daily)."""
    rt = _strava_runtime()
    from service.integrations.strava.jobs import reconcile as job

    result = job()
    if rt.queue.embedded:  # no shared queue: run the syncs here (the server's sweeper would too)
        rt.queue.drain()
    emit(result)


@strava.command("purge")
def purge() -> None:
    """Delete Strava data past its retention now."""
    _runtime()
    from service.integrations.strava.jobs import purge as job

    emit(job())
