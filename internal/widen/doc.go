// Package widen is the one rule for a widened argument: a rule is the
// exact argv unless the human, on the approval screen, chose one argument
// position to be any value (policy.Rule.AnyArg). What the agent then
// controls is that one argument, so the value is constrained where it is
// matched (Allowed), not only when the rule is made: it can never be a
// flag (git push origin --upload-pack=CMD, --exec=…), an assignment, a
// refspec with '+' or ':' (force or delete a ref), or carry spaces or
// shell and glob characters; and only a position that is not an option's
// value may be widened (Check). approve (which offers it) and policy
// (which matches it) share it from here.
package widen
