"""Unattended field work, Qt-free: recording schedules (clock time and sun), GPS position, battery and disk.

Nothing here touches the audio path; the take layer (``fieldrec.recorder`` and its controllers) uses these
modules, and the command line and the window show what they report.
"""
