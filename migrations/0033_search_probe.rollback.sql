DROP FUNCTION search_probe(tsquery, integer);
