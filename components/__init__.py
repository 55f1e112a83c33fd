"""Reusable Streamlit render functions (``render_*``), pure plotly figure builders (``make_*_figure``)
and the cached service layer (``services``), the only place that caches core objects."""
