"""The domain: accounts, activities, clubs, endpoints, deliveries, policy, erasure."""
