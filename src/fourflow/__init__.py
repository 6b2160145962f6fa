"""FourFlow: trade-credit supply-chain finance on a consortium blockchain."""
