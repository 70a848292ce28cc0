// Package gen generates a realistic, deterministic clickstream of a travel
// site: one JSON object per event, in the order a collector would receive
// them.
//
// The simulation, in short:
//
//   - Visits (sessions) start as a Poisson process paced so the stream has
//     the requested events per second of event time. Each visit goes to a
//     user drawn from a Zipf-like (power-law) activity distribution, so a
//     few users come back often and most come rarely.
//   - A visitor walks the funnel home -> search -> results -> details ->
//     booking -> confirmation as a Markov chain with realistic drop-off,
//     going back and forth between search, results and details, and now
//     and then logging out. Events within a visit are seconds to a few
//     minutes apart, with an occasional idle break that stays under 25
//     minutes, so one simulated visit is one session under the 30-minute
//     inactivity rule.
//   - A user pauses over 30 minutes before the next visit, so active users
//     have several sessions.
//   - A few visits run past 2 hours: trip planners who keep searching, and
//     bots that crawl prices continuously for hours.
//   - A share of records are deliberately broken: re-sent duplicates,
//     malformed lines, and events delivered late (out of order).
//   - The site runs for a few simulated hours before the start time, with
//     those events dropped, so the stream opens in steady state: visits
//     are under way and some users' first events are mid-visit, as when a
//     collector is switched on.
//
// Everything is drawn from one PCG generator seeded by Config.Seed, with no
// clock and no map iteration, so the same Config gives the same bytes (on
// one platform: Go may fuse floating-point operations differently on
// another architecture). Memory is bounded by the number of users
// and the event rate, never by the number of events.
package gen
