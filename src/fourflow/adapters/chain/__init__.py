"""The chain adapter: FourFlow's contracts on an EVM JSON-RPC node (see docs.md)."""
