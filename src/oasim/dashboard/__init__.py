"""A local web dashboard: model explorer, trial designer, escalation and QC pages.

``oasim dashboard`` starts it (:func:`serve`); :func:`create_app` returns the ASGI app.
Needs the ``dashboard`` extra (``pip install -e '.[dashboard]'``).
"""

from .app import create_app as create_app
from .app import serve as serve
