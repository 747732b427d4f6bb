"""Evaluation of Convix's AI layer on public datasets (see ``datasets``)."""
