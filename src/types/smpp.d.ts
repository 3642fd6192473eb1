declare module 'smpp';
