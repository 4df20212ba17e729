DROP FUNCTION make_edits(text, bigint[], uuid[], uuid[], uuid[], text[], uuid[], interval[], boolean[], boolean[], bigint[],
                         uuid[], text[]);
DROP TYPE edited_message;
