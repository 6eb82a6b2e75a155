-- wrk script of bench/run.sh for single-use bodies (BENCH_ONCE=1): wrk.lua, plus a
-- delay before any request once a thread's bodies ran out, longer than any run, so
-- that a connection with nothing left to send waits idle while the last answers
-- come (the thread then stops) instead of sending probes, which would also count
-- in wrk's latency figures.
dofile(os.getenv("BENCH_LUA_DIR") .. "/wrk.lua")

-- wrk asks delay() before every request of a connection, so a connection reserves
-- its body here: two connections asking before either sent cannot both count on
-- the last one
local reserved = 0

function delay()
   if reserved >= #(bodies or auths) then return 600000 end
   reserved = reserved + 1
   return 0
end
