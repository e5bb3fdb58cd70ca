"""Small helpers for the words of sentences under charts."""

from __future__ import annotations


def lower_first(text: str) -> str:
    """A label lower-cased at its start for use inside a sentence, leaving an acronym alone: 'Age band' ->
    'age band', 'ICP area' -> 'ICP area'."""
    first_word = text.split(" ", 1)[0]
    if len(first_word) > 1 and first_word[:2].isupper():
        return text
    return text[:1].lower() + text[1:]
