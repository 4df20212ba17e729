DROP INDEX ix_chatmessage_search_vector;
DROP TRIGGER chatmessage_search_vector ON chatmessage;
ALTER TABLE chatmessage DROP COLUMN search_vector;
DROP FUNCTION chatmessage_search_vector();
DROP FUNCTION search_language();
DROP TABLE search_setting;
