"""The timeline: a QGraphicsView that paints only the visible shots."""

from soul_studio.ui.timeline.panel import TimelinePanel
from soul_studio.ui.timeline.view import TimelineView

__all__ = ["TimelinePanel", "TimelineView"]
