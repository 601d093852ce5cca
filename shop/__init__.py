"""Dash store: the domain layer every channel (chat, voice, scanners, web) shares.

The package holds the database schema (:mod:`shop.models`), the services that change it
(:mod:`shop.services`), the Flask application (:mod:`shop.api`) and the ``dash`` command line
(:mod:`shop.cli`). Nothing here connects to anything at import time; build a
:class:`shop.store.Store` from a :class:`shop.config.Settings` and pass it around.
"""
