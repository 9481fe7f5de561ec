"""The dock beside the live view: which take the metadata form edits, the form (``MetadataPanel``), the
"Done editing last take" button, and the take's markers."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QDockWidget, QLabel, QListWidget, QPushButton, QVBoxLayout, QWidget

from fieldrec.gui.metadata_panel import MetadataPanel
from fieldrec.gui.status_widgets import fmt_duration


class MetadataDock(QDockWidget):
    def __init__(self, metadata: dict[str, Any], parent: QWidget | None = None):
        super().__init__("Take metadata and markers", parent)
        self.setObjectName("metadataDock")
        self.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        side = QWidget(self)
        sv = QVBoxLayout(side)
        self.metadata_target = QLabel("Metadata for the next take", side)
        self.metadata_target.setObjectName("metadataTarget")
        self.metadata_target.setWordWrap(True)
        self.metadata_target.setStyleSheet("font-weight: bold;")
        sv.addWidget(self.metadata_target)
        self.metadata_panel = MetadataPanel(side)
        self.metadata_panel.set_metadata(metadata)
        sv.addWidget(self.metadata_panel, 3)
        self.detach_button = QPushButton("Done editing last take", side)
        self.detach_button.setToolTip("Further edits are for the next take only")
        self.detach_button.hide()
        sv.addWidget(self.detach_button)
        sv.addWidget(QLabel("Markers", side))
        self.marker_list = QListWidget(side)
        self.marker_list.setObjectName("markerList")
        sv.addWidget(self.marker_list, 1)
        self.setWidget(side)
        self.setMinimumWidth(280)

    def add_marker_row(self, number: int, marker: Any) -> None:
        self.marker_list.addItem(f"{number}. {fmt_duration(marker.time_s)}  (frame {marker.frame})  {marker.label}")
        self.marker_list.scrollToBottom()
