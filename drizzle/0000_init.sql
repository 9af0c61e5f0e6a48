CREATE TABLE `audit_events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`actor_id` text NOT NULL,
	`operation` text NOT NULL,
	`target_user_id` text,
	`organization_id` text,
	`fields` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_target` ON `audit_events` (`target_user_id`);--> statement-breakpoint
CREATE INDEX `audit_actor` ON `audit_events` (`actor_id`);--> statement-breakpoint
CREATE INDEX `audit_organization` ON `audit_events` (`organization_id`);--> statement-breakpoint
CREATE TABLE `connections` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`kind` text NOT NULL,
	`strategy` text NOT NULL,
	`options` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `connections_name_unique` ON `connections` (`name`);--> statement-breakpoint
CREATE TABLE `deleted_users` (
	`id_hash` text PRIMARY KEY NOT NULL,
	`deleted_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `identities` (
	`user_id` text NOT NULL,
	`connection_id` text NOT NULL,
	`provider` text NOT NULL,
	`upstream_user_id` text NOT NULL,
	`is_social` integer NOT NULL,
	`profile_data` text,
	PRIMARY KEY(`user_id`, `connection_id`),
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`connection_id`) REFERENCES `connections`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `identities_connection_upstream` ON `identities` (`connection_id`,`upstream_user_id`);--> statement-breakpoint
CREATE TABLE `invitations` (
	`id` text PRIMARY KEY NOT NULL,
	`organization_id` text NOT NULL,
	`email` text NOT NULL,
	`roles` text NOT NULL,
	`ticket_hash` text NOT NULL,
	`inviter_id` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`accepted_at` integer,
	`accepted_by` text,
	FOREIGN KEY (`organization_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `invitations_ticket_hash_unique` ON `invitations` (`ticket_hash`);--> statement-breakpoint
CREATE INDEX `invitations_organization` ON `invitations` (`organization_id`);--> statement-breakpoint
CREATE TABLE `memberships` (
	`organization_id` text NOT NULL,
	`user_id` text NOT NULL,
	`roles` text NOT NULL,
	`invited_email` text,
	`joined_at` integer NOT NULL,
	PRIMARY KEY(`organization_id`, `user_id`),
	FOREIGN KEY (`organization_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `memberships_user` ON `memberships` (`user_id`);--> statement-breakpoint
CREATE TABLE `organization_connections` (
	`organization_id` text NOT NULL,
	`connection_id` text NOT NULL,
	PRIMARY KEY(`organization_id`, `connection_id`),
	FOREIGN KEY (`organization_id`) REFERENCES `organizations`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`connection_id`) REFERENCES `connections`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `organizations` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`display_name` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `organizations_name_unique` ON `organizations` (`name`);--> statement-breakpoint
CREATE TABLE `tickets` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`user_id` text NOT NULL,
	`ticket_hash` text NOT NULL,
	`data` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	FOREIGN KEY (`user_id`) REFERENCES `users`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tickets_ticket_hash_unique` ON `tickets` (`ticket_hash`);--> statement-breakpoint
CREATE INDEX `tickets_user` ON `tickets` (`user_id`);--> statement-breakpoint
CREATE TABLE `users` (
	`id` text PRIMARY KEY NOT NULL,
	`connection_id` text NOT NULL,
	`email` text,
	`email_lower` text,
	`email_verified` integer DEFAULT false NOT NULL,
	`username` text,
	`username_lower` text,
	`phone_number` text,
	`phone_verified` integer DEFAULT false NOT NULL,
	`name` text,
	`nickname` text,
	`given_name` text,
	`family_name` text,
	`picture` text,
	`user_metadata` text DEFAULT '{}' NOT NULL,
	`app_metadata` text DEFAULT '{}' NOT NULL,
	`blocked` integer DEFAULT false NOT NULL,
	`migrated` integer DEFAULT false NOT NULL,
	`password_hash` text,
	`version` integer DEFAULT 1 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`last_login` integer,
	`last_ip` text,
	`logins_count` integer DEFAULT 0 NOT NULL,
	`profile_synced_at` integer,
	FOREIGN KEY (`connection_id`) REFERENCES `connections`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `users_connection_username` ON `users` (`connection_id`,`username_lower`);--> statement-breakpoint
CREATE INDEX `users_connection_email` ON `users` (`connection_id`,`email_lower`);--> statement-breakpoint
CREATE INDEX `users_email` ON `users` (`email_lower`);