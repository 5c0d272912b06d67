-- The marks mean "re-place this state" (not "replace"): the table is named for it.
ALTER TABLE states_to_replace RENAME TO states_to_re_place;
ALTER INDEX states_to_replace_pkey RENAME TO states_to_re_place_pkey;
