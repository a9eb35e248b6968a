"""Shared fixtures: the stores every conformance and feature test runs on."""

from __future__ import annotations
