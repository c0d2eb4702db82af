"""Repositories: plain functions, keyword-only arguments, handed a session.

Route handlers, commands and flows call these and never build queries
themselves. Each function that reads or writes patient data records an audit
event in the same session, so the access and its audit commit together.
"""
