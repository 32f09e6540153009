"""All models, imported here so metadata (and Alembic) sees every table."""

from service.models.activity import Activity, RawFile
from service.models.athlete import Athlete
from service.models.base import Base, new_id, utcnow
from service.models.connection import Connection
from service.models.delivery import Delivery, DeliveryAttempt
from service.models.event import InboundEvent
from service.models.finding import Finding

__all__ = [
    "Activity", "Athlete", "Base", "Connection", "Delivery", "DeliveryAttempt", "Finding",
    "InboundEvent", "RawFile", "new_id", "utcnow",
]
