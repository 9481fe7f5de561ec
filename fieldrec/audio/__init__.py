"""Devices and capture: find an input by name, run its stream into a ring, simulate a field scene.

Imports only numpy, sounddevice (lazily, so the simulated source works without PortAudio) and the stdlib.
"""
