"""Reviewing one take after it was recorded (Qt-free): whole-take overview, spectra of a range,
meters of a selection, markers and their exchange with Audacity and Raven.

The Qt views in ``fieldrec.gui.library`` and ``fieldrec.gui.review`` draw what these modules compute.
"""
