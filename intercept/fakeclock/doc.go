// Package fakeclock is a manual clock for tests of code that takes an
// intercept.Clock: time stands still until Advance or Set moves it, and
// timers fire synchronously when their deadline is reached, so tests of
// timeouts run instantly and deterministically.
package fakeclock
