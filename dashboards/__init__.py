"""Folium maps returned as HTML: visit evidence, live operations, plans and regional capacity.

Filled by the issues that produce those views; nothing here yet.
"""
