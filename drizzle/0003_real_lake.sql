CREATE TABLE `change_events` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`id` text NOT NULL,
	`type` text NOT NULL,
	`subject` text NOT NULL,
	`time` integer NOT NULL,
	`data` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `change_events_id_unique` ON `change_events` (`id`);--> statement-breakpoint
CREATE INDEX `change_events_time` ON `change_events` (`time`);--> statement-breakpoint
CREATE TABLE `event_cursors` (
	`consumer` text PRIMARY KEY NOT NULL,
	`after_seq` integer NOT NULL,
	`generation` integer DEFAULT 0 NOT NULL,
	`lease_owner` text,
	`lease_until` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`next_attempt_at` integer,
	`failing_since` integer,
	`last_error` text
);
--> statement-breakpoint
CREATE TABLE `event_delivery_failures` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`consumer` text NOT NULL,
	`seq` integer NOT NULL,
	`event_id` text NOT NULL,
	`attempts` integer NOT NULL,
	`last_error` text,
	`failed_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `event_delivery_failures_consumer` ON `event_delivery_failures` (`consumer`,`seq`);--> statement-breakpoint
CREATE TABLE `webhooks` (
	`id` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`types` text NOT NULL,
	`secret_ciphertext` text NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` text NOT NULL
);
