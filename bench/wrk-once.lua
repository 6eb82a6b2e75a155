-- wrk script of bench/run.sh for single-use bodies (BENCH_ONCE=1): wrk.lua, plus a
-- pause before each probe sent once a thread's bodies ran out, so that waiting for
-- the last answers does not flood the server with probes.
dofile(os.getenv("BENCH_LUA_DIR") .. "/wrk.lua")

function delay()
   if next_item >= #(bodies or auths) then return 5 end
   return 0
end
