"""A Whoosh tokenizer for terms our own analysis already produced (kept importable: Whoosh
pickles the schema, analyzer included, into the index)."""

from whoosh.analysis import Token, Tokenizer


class PreAnalyzed(Tokenizer):
    """Splits on single spaces: terms were produced by :mod:`vnsearch.text.analysis` already."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True,
                 mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = value
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            yield t
            return
        pos = start_pos
        for term in value.split(" "):
            if not term:
                continue
            t.text = term
            t.boost = 1.0
            t.stopped = False
            if positions:
                t.pos = pos
                pos += 1
            yield t
