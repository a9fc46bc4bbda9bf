"""The Qt desktop studio: main window, bin, cast, timeline, inspector, viewer, render queue."""
