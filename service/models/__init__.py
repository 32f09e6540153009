"""All models, imported here so metadata (and Alembic) sees every table."""

from service.models.activity import Activity, RawFile
from service.models.athlete import Athlete
from service.models.base import Base, new_id, utcnow
from service.models.club import ApiKey, Club, ClubInvite, ClubMember
from service.models.connection import Connection
from service.models.delivery import Delivery, DeliveryAttempt
from service.models.endpoint import Endpoint
from service.models.event import InboundEvent
from service.models.finding import Finding
from service.models.integrator import Integrator, IntegratorGrant, WithdrawnFinding
from service.models.oauth import OAuthState

__all__ = [
    "Activity", "ApiKey", "Athlete", "Base", "Club", "ClubInvite", "ClubMember", "Connection",
    "Delivery", "DeliveryAttempt", "Endpoint", "Finding", "InboundEvent", "Integrator",
    "IntegratorGrant", "OAuthState", "RawFile", "WithdrawnFinding", "new_id", "utcnow",
]
