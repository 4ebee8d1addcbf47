"""Vietnamese text: Unicode normalisation and folding, word segmentation, analysis into the
terms the index stores."""
