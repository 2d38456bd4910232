"""Thin states: build the Actor on the server, call a service, copy plain results into public vars."""
