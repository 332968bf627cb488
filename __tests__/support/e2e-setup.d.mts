export default function e2eSetup(): void
