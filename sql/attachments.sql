-- Attachments (migration 0022): uploads, what serving a file reads, and the sweep.

-- name: create_upload(id, uploader_id, channel_id, storage_key, filename)!
-- Written before the bytes are: an upload in progress (size NULL) that nothing can attach yet,
-- found by the sweep if the process dies before it completes.
INSERT INTO attachment (id, uploader_id, channel_id, storage_key, filename)
VALUES (:id, :uploader_id, :channel_id, :storage_key, :filename);

-- name: finish_upload(id, content_type, size, width, height)^
-- The bytes are stored: the upload can be attached now. No row when it was deleted meanwhile
-- (its channel, or the uploader's account, or swept).
UPDATE attachment
   SET content_type = :content_type, size = :size, width = :width, height = :height
 WHERE id = :id
RETURNING id, filename, content_type, size, width, height;

-- name: delete_upload(id)!
-- An upload that failed (over the limit, the client gone, a second file): its row goes, and
-- the trigger puts its key in the trash.
DELETE FROM attachment WHERE id = :id;

-- name: count_attachable(uploader_id, channel_id, ids)$
-- How many of `ids` a send by this user into this channel may attach (explaining a refusal).
SELECT count(*)
  FROM attachment
 WHERE id = any(:ids::uuid[])
   AND uploader_id = :uploader_id
   AND channel_id = :channel_id
   AND message_id IS NULL
   AND size IS NOT NULL;

-- name: get_served_attachment(id)^
-- A file to serve: attached to a message that is not deleted (a deleted message's files are
-- deleted with it; this answers nothing in between).
SELECT a.storage_key, a.filename, a.content_type, a.size
  FROM attachment a
  JOIN chatmessage m ON m.id = a.message_id
 WHERE a.id = :id
   AND m.deleted_at IS NULL;

-- name: sweep_uploads(ttl)$
-- Uploads not attached within CHATD_UPLOAD_TTL (and uploads in progress whose process died),
-- by one process at a time: the others skip while one holds the lock. Their keys go to the
-- trash by trigger.
WITH turn AS (
    SELECT pg_try_advisory_xact_lock(hashtext('chatd.upload_sweep')) AS mine
), swept AS (
    DELETE FROM attachment a
     USING turn
     WHERE turn.mine
       AND a.message_id IS NULL
       AND a.created_at < now() - :ttl::interval
    RETURNING 1
)
SELECT count(*) FROM swept;

-- name: take_trash(lim)
-- Keys of deleted files, oldest first, locked until the caller's transaction ends: processes
-- emptying the trash at once take different keys.
SELECT storage_key
  FROM attachment_trash
 ORDER BY trashed_at
 LIMIT :lim
   FOR UPDATE SKIP LOCKED;

-- name: forget_trash(storage_keys)!
-- The files are deleted from storage.
DELETE FROM attachment_trash WHERE storage_key = any(:storage_keys::text[]);
