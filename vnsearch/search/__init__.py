"""Reading an index: query parsing, ranking, results, snippets, suggestions, duplicate
collapsing and similar documents."""
