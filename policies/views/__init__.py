"""The policies app's pages: policies, policy exceptions, the compliance dashboard."""
