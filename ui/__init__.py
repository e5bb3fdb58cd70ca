"""Streamlit building blocks shared by the pages: filters, chart rendering, notices."""
