// GraphQL enum values are the domain's snake_case names in upper case: the mapping is the domain's.
export { lower, upper } from '../domain/names.js';
