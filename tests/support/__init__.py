"""Helpers the test suite shares (not tests themselves)."""
