"""Tests of the permit intake engine and documents (bot/intake)."""
