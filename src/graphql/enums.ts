// GraphQL enum values are the domain's snake_case names in upper case (GIVEN_NAME ↔ given_name).
export function upper<T extends string>(value: T): Uppercase<T>;
export function upper<T extends string>(value: T | null): Uppercase<T> | null;
export function upper<T extends string>(value: T | null): Uppercase<T> | null {
  return value === null ? null : (value.toUpperCase() as Uppercase<T>);
}

export function lower<T extends string>(value: T | null | undefined): Lowercase<T> | null | undefined {
  return value == null ? value : (value.toLowerCase() as Lowercase<T>);
}
