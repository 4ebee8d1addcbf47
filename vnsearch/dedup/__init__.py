"""Near-duplicate detection: MinHash signatures and LSH (minhash), and the sqlite store of
duplicate groups kept beside an index (store)."""
