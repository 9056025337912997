"""The customer archive (客户档案): finding the contact behind an identity, staff administration of customers and contacts, merges, phone numbers."""
