export default function globalSetup(globalConfig: unknown, projectConfig: unknown): void
