"""The clinician dashboard: a Streamlit app thin over :class:`garmle.Recommender`.

Start it with ``garmle ui`` (or ``streamlit run ui/app.py``). The modules split the
app by page section; :mod:`ui.markup` holds the pure text-to-HTML helpers that the
sections share.
"""
