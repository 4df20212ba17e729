DROP FUNCTION reaction_summary(uuid, uuid, uuid);
