-- A customer known only by an opaque id (a web-chat visitor, an integrator's own user id):
-- looked up by it, and unique in the tenant like phones, WhatsApp ids and e-mails.
ALTER TABLE contacts ADD COLUMN visitor_id text;
ALTER TABLE contacts ADD CONSTRAINT contacts_org_id_visitor_id_key UNIQUE (org_id, visitor_id);
