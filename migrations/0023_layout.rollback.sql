DROP TABLE deleted_channel;
ALTER TABLE chatchannel DROP CONSTRAINT ex_chatchannel_layout_position;
DROP INDEX ix_chatchannel_category_id;
ALTER TABLE chatchannel DROP COLUMN category_id;
ALTER TABLE chatchannel DROP COLUMN topic;
ALTER TABLE chatserver DROP COLUMN layout_version;
DROP TABLE channel_category;
