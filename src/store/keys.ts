// The forms in which the store compares emails and usernames: a user's lower-cased lookup columns
// hold them, and uniqueness within a connection is enforced on them. Every dialect uses these, and
// so does the app when it compares two addresses (an invitation's and a user's).

/** Lower-case and trimmed: the form in which emails are compared for uniqueness. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Lower-case: the form in which usernames are compared for uniqueness. */
export function normalizeUsername(username: string): string {
  return username.toLowerCase();
}
